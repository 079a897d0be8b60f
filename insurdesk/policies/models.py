"""Issued policies (保单), their lines, beneficiaries, group members, premiums due and payments.

A policy's receivables (应收保费) are kept one instalment ahead: issuing writes the first, paying
one in full writes the next, so a million policies carry about a million open instalments rather
than their whole schedules; the full schedule is computed (policies.calculations) for display.
Unit and agent are copied onto each instalment so the due list (应收清单) is one indexed query.
"""

import re

from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from insurdesk.applications.models import Application, BeneficiaryRelation, Relationship
from insurdesk.common.fields import EncryptedTextField
from insurdesk.customers.models import Customer, Gender, IdType
from insurdesk.org.models import OrgUnit, User
from insurdesk.products.models import PaymentMode, PlanLevel, Product


class PolicyState(models.TextChoices):
    PENDING = "pending", "待生效"
    IN_FORCE = "in_force", "有效"
    LAPSED = "lapsed", "失效（效力中止）"
    REINSTATED = "reinstated", "复效"
    SURRENDERED = "surrendered", "退保终止"
    MATURED = "matured", "满期终止"
    CLAIM_TERMINATED = "claim_terminated", "理赔终止"
    CANCELLED = "cancelled", "犹豫期撤单"


# States in which the policy covers (in force, or reinstated after a lapse).
COVERING_STATES = (PolicyState.IN_FORCE, PolicyState.REINSTATED)
# States that still take premiums: the first one, the running ones, arrears of a lapsed policy.
PAYABLE_STATES = (PolicyState.PENDING, PolicyState.IN_FORCE, PolicyState.REINSTATED, PolicyState.LAPSED)
TERMINAL_STATES = (
    PolicyState.SURRENDERED,
    PolicyState.MATURED,
    PolicyState.CLAIM_TERMINATED,
    PolicyState.CANCELLED,
)


def policy_key(number: str) -> str:
    """Return a policy number as searched: upper-case, without hyphens or spaces ("bar-p 002" -> BARP002)."""
    return re.sub(r"[\s\-－—‐]+", "", number or "").upper()


class PolicyKeyField(models.CharField):
    """The policy number without hyphens and spaces, filled from policy_no on every insert and save
    (bulk inserts included: common.bulk calls pre_save), so search ignores how the number is written."""

    def pre_save(self, model_instance, add):
        value = policy_key(model_instance.policy_no)
        setattr(model_instance, self.attname, value)
        return value


class Policy(ConcurrentTransitionMixin, models.Model):
    policy_no = models.CharField("保单号", max_length=20, unique=True)
    policy_key = PolicyKeyField(max_length=20, db_index=True, editable=False, default="")
    application = models.OneToOneField(
        Application,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policy",
        verbose_name="投保单",
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name="主险")
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="policies", verbose_name="承保机构"
    )
    agent = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="policies", verbose_name="业务员"
    )

    policyholder = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="policies_as_policyholder", verbose_name="投保人"
    )
    # Null for a group policy (团险): its insured are the members (GroupMember).
    insured = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies_as_insured",
        verbose_name="被保险人",
    )
    relationship = models.CharField("被保险人与投保人关系", max_length=10, choices=Relationship.choices)
    is_group = models.BooleanField("团体保单", default=False)
    beneficiary_legal = models.BooleanField("身故受益人为法定", default=False)

    state = FSMField(
        "状态",
        max_length=16,
        choices=PolicyState.choices,
        default=PolicyState.PENDING,
        protected=True,
        db_index=True,
    )
    state_changed_at = models.DateTimeField("进入当前状态时间")

    payment_mode = models.CharField("缴费方式", max_length=12, choices=PaymentMode.choices)
    payment_term = models.CharField("缴费期间", max_length=10)
    instalment_total = models.PositiveIntegerField("缴费期数")
    coverage_term = models.CharField("保险期间", max_length=10)
    application_date = models.DateField("投保日期")
    issue_date = models.DateField("签单日期")
    effective_date = models.DateField("生效日期")
    expiry_date = models.DateField("满期日期", null=True, blank=True, help_text="终身保险为空")
    receipt_date = models.DateField("回执签收日期", null=True, blank=True)

    premium = models.DecimalField(
        "期交保费（元）", max_digits=14, decimal_places=2, help_text="每期应交，含加费"
    )
    annual_premium = models.DecimalField("年化保费（元）", max_digits=14, decimal_places=2)
    extra_premium = models.DecimalField("加费（每期，元）", max_digits=14, decimal_places=2, default=0)
    sum_insured = models.DecimalField("总保额（元）", max_digits=16, decimal_places=2)
    cooling_off_days = models.PositiveSmallIntegerField("犹豫期（天）")
    grace_days = models.PositiveSmallIntegerField("宽限期（天）")
    paid_to = models.DateField("缴至日期", null=True, blank=True)

    underwriting_decision = models.CharField("核保结论", max_length=20, blank=True)
    exclusion = models.TextField("除外责任", blank=True)

    lapsed_on = models.DateField("效力中止日", null=True, blank=True)
    reinstated_on = models.DateField("复效日", null=True, blank=True)
    terminated_on = models.DateField("终止日", null=True, blank=True)
    termination_reason = models.CharField("终止原因", max_length=300, blank=True)

    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="出单人"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "保单"
        verbose_name_plural = "保单"
        indexes = [
            models.Index(fields=["unit", "state"]),
            models.Index(fields=["agent", "state"]),
            models.Index(fields=["state", "expiry_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(premium__gte=0) & Q(extra_premium__gte=0), name="policy_premium_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"保单 {self.policy_no}"

    @property
    def covers(self) -> bool:
        return self.state in COVERING_STATES

    # --- transitions; call them only through insurdesk.policies.services ---

    @transition(field=state, source=PolicyState.PENDING, target=PolicyState.IN_FORCE)
    def activate(self):
        """首期保费到账，保单生效."""

    @transition(field=state, source=list(COVERING_STATES), target=PolicyState.LAPSED)
    def lapse(self):
        """宽限期满未交费，效力中止（保险法第三十六条）."""

    @transition(field=state, source=PolicyState.LAPSED, target=PolicyState.REINSTATED)
    def reinstate(self):
        """补交欠费后复效（保险法第三十七条）."""

    @transition(field=state, source=[*COVERING_STATES, PolicyState.LAPSED], target=PolicyState.SURRENDERED)
    def surrender(self):
        """退保."""

    @transition(field=state, source=list(COVERING_STATES), target=PolicyState.MATURED)
    def mature(self):
        """满期."""

    @transition(
        field=state, source=[*COVERING_STATES, PolicyState.LAPSED], target=PolicyState.CLAIM_TERMINATED
    )
    def terminate_by_claim(self):
        """理赔终止."""

    @transition(field=state, source=[PolicyState.PENDING, PolicyState.IN_FORCE], target=PolicyState.CANCELLED)
    def cancel(self):
        """犹豫期内撤单."""


class PolicyLine(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="lines")
    seq = models.PositiveSmallIntegerField("序号")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name="险种")
    is_rider = models.BooleanField("附加险", default=False)
    coverage_term = models.CharField("保险期间", max_length=10)
    sum_insured = models.DecimalField("保额（元）", max_digits=16, decimal_places=2)
    premium = models.DecimalField("期交保费（元）", max_digits=14, decimal_places=2)
    extra_premium = models.DecimalField("加费（每期，元）", max_digits=14, decimal_places=2, default=0)
    exclusion = models.TextField("除外责任", blank=True)
    death_cover = models.BooleanField("含身故责任", default=False)
    plan_level = models.ForeignKey(
        PlanLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="等级"
    )

    class Meta:
        verbose_name = "保单险种"
        verbose_name_plural = "保单险种"
        ordering = ["policy", "seq"]
        constraints = [models.UniqueConstraint(fields=["policy", "seq"], name="policy_line_seq_once")]

    def __str__(self) -> str:
        return f"{self.policy_id}#{self.seq}"

    @property
    def total_premium(self):
        return self.premium + self.extra_premium


class PolicyBeneficiary(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="beneficiaries")
    seq = models.PositiveSmallIntegerField("序号")
    order = models.PositiveSmallIntegerField("受益顺序", default=1)
    name = models.CharField("姓名", max_length=100)
    id_type = models.CharField("证件类型", max_length=24, choices=IdType.choices, default=IdType.RESIDENT_ID)
    id_number = EncryptedTextField("证件号码", null=True, blank=True)
    relationship = models.CharField(
        "与被保险人关系", max_length=10, choices=BeneficiaryRelation.choices, blank=True
    )
    share = models.DecimalField("受益比例（%）", max_digits=5, decimal_places=2)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="policies_as_beneficiary",
        verbose_name="客户档案",
    )

    class Meta:
        verbose_name = "保单受益人"
        verbose_name_plural = "保单受益人"
        ordering = ["policy", "order", "seq"]

    def __str__(self) -> str:
        return f"{self.name} {self.order}/{self.share}%"


class InstalmentStatus(models.TextChoices):
    PAID = "paid", "已缴"
    UNPAID = "unpaid", "未缴"
    OVERDUE = "overdue", "逾期"
    PARTIAL = "partial", "部分"
    VOID = "void", "作废"  # the policy ended (cancelled, surrendered…) before it fell due


OPEN_INSTALMENT = (InstalmentStatus.UNPAID, InstalmentStatus.OVERDUE, InstalmentStatus.PARTIAL)


class Instalment(models.Model):
    """One premium due (应收保费): the period it pays for, what it asks, what has been paid."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="instalments")
    seq = models.PositiveIntegerField("期次")
    due_date = models.DateField("应缴日期")
    period_start = models.DateField("保障期间起")
    period_end = models.DateField("保障期间止")
    amount = models.DecimalField("应缴金额（元）", max_digits=14, decimal_places=2)
    paid_amount = models.DecimalField("已缴金额（元）", max_digits=14, decimal_places=2, default=0)
    status = models.CharField(
        "状态", max_length=8, choices=InstalmentStatus.choices, default=InstalmentStatus.UNPAID
    )
    paid_on = models.DateField("缴清日期", null=True, blank=True)
    # The due date while the premium is open (未缴/逾期/部分), NULL once paid or void: the due list's key.
    # A partial index on status would do, but SQLite uses one only for literal values, never for the
    # bound parameters Django sends, so the open set is carried by this column and plain indexes.
    open_due = models.DateField("未缴清应缴日期", null=True, blank=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name="机构")
    agent = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="业务员"
    )

    class Meta:
        verbose_name = "应收保费"
        verbose_name_plural = "应收保费"
        ordering = ["policy", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "seq"], name="instalment_seq_once"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=models.F("amount")),
                name="instalment_paid_within_amount",
            ),
            models.CheckConstraint(
                condition=(Q(status__in=OPEN_INSTALMENT) & Q(open_due=models.F("due_date")))
                | (~Q(status__in=OPEN_INSTALMENT) & Q(open_due__isnull=True)),
                name="instalment_open_due_follows_status",
            ),
        ]
        indexes = [
            models.Index(fields=["open_due"], name="instalment_open_due"),
            models.Index(fields=["unit", "open_due"], name="instalment_open_unit_due"),
            models.Index(fields=["agent", "open_due"], name="instalment_open_agent_due"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} 第{self.seq}期"

    @property
    def outstanding(self):
        return self.amount - self.paid_amount


class PaymentMethod(models.TextChoices):
    CASH = "cash", "现金"
    TRANSFER = "transfer", "转账"
    CARD = "card", "刷卡"
    WITHHOLDING = "withholding", "银行代扣"
    # A past payment registered from an archive table that does not say how it was paid; never chosen
    # when money is recorded (RECORDABLE_METHODS).
    UNKNOWN = "unknown", "未载明"


# The methods a user recording money received (or paid back) may choose.
RECORDABLE_METHODS = tuple(m for m in PaymentMethod if m != PaymentMethod.UNKNOWN)


class PaymentKind(models.TextChoices):
    PREMIUM = "premium", "收费"
    REFUND = "refund", "退费"


class Payment(models.Model):
    """缴费记录: money received for an instalment (or paid back on a cooling-off cancellation)."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="payments")
    instalment = models.ForeignKey(
        Instalment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name="期次",
    )
    kind = models.CharField("类型", max_length=8, choices=PaymentKind.choices, default=PaymentKind.PREMIUM)
    method = models.CharField("缴费方式", max_length=12, choices=PaymentMethod.choices)
    amount = models.DecimalField("金额（元）", max_digits=14, decimal_places=2)
    paid_on = models.DateField("缴费日期", db_index=True)
    period_start = models.DateField("所缴期间起", null=True, blank=True)
    period_end = models.DateField("所缴期间止", null=True, blank=True)
    reference = models.CharField("凭证号", max_length=60, blank=True)
    note = models.CharField("备注", max_length=300, blank=True)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name="机构")
    agent = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="业务员"
    )
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="录入人"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    class Meta:
        verbose_name = "缴费记录"
        verbose_name_plural = "缴费记录"
        ordering = ["-paid_on", "-id"]
        indexes = [models.Index(fields=["unit", "paid_on"]), models.Index(fields=["policy", "paid_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            # A payment is recorded once: its voucher (凭证号) names one payment of a policy (issue 15).
            models.UniqueConstraint(
                fields=["policy", "reference"], condition=~Q(reference=""), name="payment_reference_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} {self.kind} {self.amount}"


class MemberType(models.TextChoices):
    EMPLOYEE = "employee", "员工"
    SPOUSE = "spouse", "配偶"
    CHILD = "child", "子女"


class MemberStatus(models.TextChoices):
    ACTIVE = "active", "在保"
    REMOVED = "removed", "已减员"


class GroupMember(models.Model):
    """One insured person on a group policy's member list (被保险人清单) with its plan level."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="members")
    seq = models.PositiveIntegerField("序号")
    name = models.CharField("姓名", max_length=100)
    id_type = models.CharField("证件类型", max_length=24, choices=IdType.choices, default=IdType.RESIDENT_ID)
    id_number = EncryptedTextField("证件号码", null=True, blank=True)
    id_hash = models.CharField(max_length=32, editable=False)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    occupation_class = models.PositiveSmallIntegerField("职业类别", null=True, blank=True)
    member_type = models.CharField(
        "人员类别", max_length=10, choices=MemberType.choices, default=MemberType.EMPLOYEE
    )
    plan_level = models.ForeignKey(PlanLevel, on_delete=models.PROTECT, related_name="+", verbose_name="等级")
    status = models.CharField("状态", max_length=8, choices=MemberStatus.choices, default=MemberStatus.ACTIVE)
    joined_on = models.DateField("加入日期")
    left_on = models.DateField("减员日期", null=True, blank=True)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="group_memberships",
        verbose_name="客户档案",
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    class Meta:
        verbose_name = "被保险人清单"
        verbose_name_plural = "被保险人清单"
        ordering = ["policy", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "seq"], name="member_seq_once"),
            models.UniqueConstraint(
                fields=["policy", "id_hash"], condition=Q(status="active"), name="member_once_per_policy"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id}#{self.seq} {self.name}"
