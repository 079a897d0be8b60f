"""Servicing (保全): one request model with one state machine, the endorsements (批单) it writes, policy
loans (保单贷款) and the money servicing moves (退保金、退费、加费、贷款、生存金、满期金).

A request keeps who asked and how, the documents of its kind, the before and after of every field it
changes, its effective date and its approvals. See docs/design/servicing.md.
"""

import json

from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from insurdesk.common.fields import EncryptedTextField
from insurdesk.org.models import OrgUnit, User
from insurdesk.policies.models import Policy


class Kind(models.TextChoices):
    CONTACT = "contact", "联系方式变更"
    BENEFICIARY = "beneficiary", "受益人变更"
    PAYMENT_ACCOUNT = "payment_account", "缴费账户变更"
    SUM_INSURED = "sum_insured", "保额变更"
    RIDER_ADD = "rider_add", "附加险加保"
    RIDER_REMOVE = "rider_remove", "附加险退保"
    MEMBERS = "members", "团体加减人"
    SURRENDER = "surrender", "退保"
    REINSTATEMENT = "reinstatement", "复效"
    LOAN = "loan", "保单贷款"
    LOAN_REPAY = "loan_repay", "贷款还款"


# Kinds that move money: a second approver, neither the requester nor the first approver, signs them.
MONEY_KINDS = frozenset(
    {Kind.MEMBERS, Kind.SURRENDER, Kind.REINSTATEMENT, Kind.LOAN, Kind.LOAN_REPAY, Kind.RIDER_REMOVE}
)


class Channel(models.TextChoices):
    COUNTER = "counter", "柜面"
    PHONE = "phone", "电话"
    AGENT = "agent", "业务员"
    API = "api", "接口"


class State(models.TextChoices):
    REQUESTED = "requested", "待审核"
    REFERRED = "referred", "转核保"
    FIRST_APPROVED = "first_approved", "待复核"
    APPROVED = "approved", "已批准待生效"
    APPLIED = "applied", "已生效"
    REJECTED = "rejected", "已拒绝"
    WITHDRAWN = "withdrawn", "已撤回"
    FAILED = "failed", "未能生效"


OPEN_STATES = (State.REQUESTED, State.REFERRED, State.FIRST_APPROVED, State.APPROVED)
# Queue states that wait on a reviewer (审核) or an underwriter (核保).
AWAITING_APPROVAL = (State.REQUESTED, State.FIRST_APPROVED)


class Requester(models.TextChoices):
    POLICYHOLDER = "policyholder", "投保人"
    INSURED = "insured", "被保险人"


class ServicingRequest(ConcurrentTransitionMixin, models.Model):
    request_no = models.CharField("保全申请号", max_length=20, unique=True)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="servicing_requests")
    # Copied from the policy so the queue is cut to a unit or an agent by one indexed column.
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name="机构")
    agent = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="业务员"
    )
    kind = models.CharField("保全项目", max_length=20, choices=Kind.choices, db_index=True)
    state = FSMField(
        "状态", max_length=16, choices=State.choices, default=State.REQUESTED, protected=True, db_index=True
    )
    channel = models.CharField("申请渠道", max_length=10, choices=Channel.choices)
    applicant = models.CharField(
        "申请人", max_length=12, choices=Requester.choices, default=Requester.POLICYHOLDER
    )
    reason = models.CharField("申请原因", max_length=500, blank=True)
    # The new values asked for, encrypted (a mobile, an account, a beneficiary's identity number).
    changes_text = EncryptedTextField("申请变更内容", null=True, blank=True)
    # [{field, label, before, after}] as shown to the reviewer; computed again when applied.
    diff = models.JSONField("变更前后", default=list)
    documents = models.JSONField("资料清单", default=list)  # [{name, received}]
    effective_date = models.DateField("生效日期", db_index=True)
    approvals_needed = models.PositiveSmallIntegerField("需审批人数", default=1)
    amount = models.DecimalField("涉及金额（元）", max_digits=16, decimal_places=2, default=0)
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="受理人"
    )
    requested_at = models.DateTimeField("受理时间", auto_now_add=True)
    first_approver = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="审核人"
    )
    first_approved_at = models.DateTimeField("审核时间", null=True, blank=True)
    first_reason = models.CharField("审核意见", max_length=500, blank=True)
    second_approver = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="复核人"
    )
    second_approved_at = models.DateTimeField("复核时间", null=True, blank=True)
    second_reason = models.CharField("复核意见", max_length=500, blank=True)
    underwriter = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="核保人"
    )
    underwriting_note = models.CharField("核保意见", max_length=500, blank=True)
    closed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="拒绝/撤回人"
    )
    closed_reason = models.CharField("拒绝/撤回/失败原因", max_length=500, blank=True)
    closed_at = models.DateTimeField("结束时间", null=True, blank=True)
    applied_at = models.DateTimeField("生效处理时间", null=True, blank=True)

    class Meta:
        verbose_name = "保全申请"
        verbose_name_plural = "保全申请"
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["unit", "state"]),
            models.Index(fields=["state", "effective_date"]),
            models.Index(fields=["policy", "state"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(approvals_needed__gte=1) & Q(approvals_needed__lte=2),
                name="servicing_approvals_one_or_two",
            ),
        ]

    def __str__(self) -> str:
        return f"保全 {self.request_no}"

    @property
    def changes(self) -> dict:
        return json.loads(self.changes_text) if self.changes_text else {}

    @changes.setter
    def changes(self, value: dict) -> None:
        self.changes_text = json.dumps(value, ensure_ascii=False, default=str)

    @property
    def moves_money(self) -> bool:
        return self.kind in MONEY_KINDS

    @property
    def approvals_given(self) -> int:
        return int(self.first_approver_id is not None) + int(self.second_approver_id is not None)

    @property
    def documents_missing(self) -> list[str]:
        return [d["name"] for d in self.documents if not d.get("received")]

    # --- transitions; call them only through insurdesk.servicing.services ---

    @transition(field=state, source=State.REFERRED, target=State.REQUESTED)
    def accept_referral(self):
        """核保同意，回到待审核."""

    @transition(field=state, source=State.REQUESTED, target=State.FIRST_APPROVED)
    def approve_first(self):
        """第一审批人同意，待第二审批人复核（涉及资金）."""

    @transition(field=state, source=[State.REQUESTED, State.FIRST_APPROVED], target=State.APPROVED)
    def approve_last(self):
        """最后一位审批人同意."""

    @transition(field=state, source=State.APPROVED, target=State.APPLIED)
    def apply(self):
        """生效：已出批单."""

    @transition(
        field=state, source=[State.REQUESTED, State.REFERRED, State.FIRST_APPROVED], target=State.REJECTED
    )
    def reject(self):
        """拒绝."""

    @transition(field=state, source=list(OPEN_STATES), target=State.WITHDRAWN)
    def withdraw(self):
        """撤回."""

    @transition(field=state, source=State.APPROVED, target=State.FAILED)
    def fail(self):
        """到生效日时条件已不满足，未能生效."""


class Endorsement(models.Model):
    """批单: what an applied request changed on the policy, numbered PD…, printable (保险法 §20)."""

    endorsement_no = models.CharField("批单号", max_length=20, unique=True)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="endorsements")
    request = models.OneToOneField(
        ServicingRequest, on_delete=models.PROTECT, related_name="endorsement", verbose_name="保全申请"
    )
    kind = models.CharField("保全项目", max_length=20, choices=Kind.choices)
    diff = models.JSONField("变更前后", default=list)
    amount = models.DecimalField("涉及金额（元）", max_digits=16, decimal_places=2, default=0)
    text = models.TextField("批文")
    effective_date = models.DateField("生效日期")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="批准人"
    )
    created_at = models.DateTimeField("批改时间", auto_now_add=True)

    class Meta:
        verbose_name = "批单"
        verbose_name_plural = "批单"
        ordering = ["-effective_date", "-id"]

    def __str__(self) -> str:
        return f"批单 {self.endorsement_no}"


class LoanState(models.TextChoices):
    OPEN = "open", "未还清"
    REPAID = "repaid", "已还清"
    SETTLED = "settled", "已抵扣"  # deducted from the surrender value or ended with the policy


class PolicyLoan(models.Model):
    """保单贷款: principal and the interest accrued day by day up to `accrued_to`."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="loans")
    request = models.OneToOneField(
        ServicingRequest, on_delete=models.PROTECT, related_name="loan", verbose_name="保全申请"
    )
    principal = models.DecimalField("贷款本金余额（元）", max_digits=16, decimal_places=2)
    interest = models.DecimalField("应计利息（元）", max_digits=16, decimal_places=2, default=0)
    # Interest accrues with more precision than cents, so a daily duty never loses fractions.
    interest_exact = models.DecimalField(max_digits=24, decimal_places=10, default=0, editable=False)
    rate = models.DecimalField("年利率（%）", max_digits=5, decimal_places=2)
    lent_on = models.DateField("放款日")
    accrued_to = models.DateField("计息至")
    state = models.CharField("状态", max_length=8, choices=LoanState.choices, default=LoanState.OPEN)
    closed_on = models.DateField("结清日", null=True, blank=True)

    class Meta:
        verbose_name = "保单贷款"
        verbose_name_plural = "保单贷款"
        ordering = ["policy", "lent_on", "id"]
        indexes = [models.Index(fields=["state", "accrued_to"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(principal__gte=0) & Q(interest__gte=0), name="loan_amounts_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} 贷款 {self.principal}"

    @property
    def balance(self):
        return self.principal + self.interest


class MoneyKind(models.TextChoices):
    SURRENDER = "surrender", "退保金"
    MEMBER_REFUND = "member_refund", "减人退费"
    MEMBER_CHARGE = "member_charge", "加人加费"
    RIDER_REFUND = "rider_refund", "附加险退费"
    ARREARS_INTEREST = "arrears_interest", "复效利息"
    LOAN = "loan", "贷款放款"
    LOAN_REPAY = "loan_repay", "贷款还款"
    SURVIVAL = "survival", "生存金"
    MATURITY = "maturity", "满期金"


class Direction(models.TextChoices):
    PAY = "pay", "付出"
    COLLECT = "collect", "收取"


class MoneyMovement(models.Model):
    """One sum servicing pays out or collects, with the day it is due (退保金 30 days, 保险法 §47).

    `period` names what the sum is for (a survival benefit's due date, a request's number): one policy
    is never paid twice for one period and kind.
    """

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="money_movements")
    request = models.ForeignKey(
        ServicingRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="money",
        verbose_name="保全申请",
    )
    kind = models.CharField("类型", max_length=20, choices=MoneyKind.choices)
    direction = models.CharField("收付", max_length=8, choices=Direction.choices)
    amount = models.DecimalField("金额（元）", max_digits=16, decimal_places=2)
    period = models.CharField("所属期间", max_length=40)
    payee = models.CharField("收款人/付款人", max_length=100)
    due_date = models.DateField("应付/应收日期")
    recorded_on = models.DateField("登记日期")
    note = models.CharField("说明", max_length=300, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "保全收付"
        verbose_name_plural = "保全收付"
        ordering = ["-recorded_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="money_movement_positive"),
            models.UniqueConstraint(fields=["policy", "kind", "period"], name="money_movement_once"),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} {self.kind} {self.amount}"
