"""Applications (投保单), their lines, beneficiaries and problem items (问题件).

The application keeps the parties as written on the form (name and identity number) next to the
archive it is linked to, so second entry and problem resolution compare what was written.
States change only through the transitions below, driven by one service each.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_noop
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from insurdesk.common.fields import EncryptedTextField
from insurdesk.customers.models import Customer, IdType
from insurdesk.org.models import OrgUnit, User
from insurdesk.products.models import PaymentMode, PlanLevel, Product


# Choice labels are gettext_noop, as in insurdesk/customers/models.py: data in Chinese, translated on pages.
class Relationship(models.TextChoices):
    """What the insured is to the policyholder (被保险人是投保人的…)."""

    SELF = "self", gettext_noop("本人")
    SPOUSE = "spouse", gettext_noop("配偶")
    CHILD = "child", gettext_noop("子女")
    PARENT = "parent", gettext_noop("父母")
    EMPLOYER = "employer", gettext_noop("雇佣")  # the policyholder employs the insured
    OTHER = "other", gettext_noop("其他")


class BusinessSource(models.TextChoices):
    DIRECT = "direct", gettext_noop("直销")
    CROSS_SELL = "cross_sell", gettext_noop("综拓")
    INTERMEDIARY = "intermediary", gettext_noop("中介")


class AgencyKind(models.TextChoices):
    BANK = "bank", gettext_noop("银行代理")
    PART_TIME = "part_time", gettext_noop("其他兼业代理")
    PROFESSIONAL = "professional", gettext_noop("专业代理")
    BROKER = "broker", gettext_noop("经纪公司")


class State(models.TextChoices):
    SECOND_ENTRY = "second_entry", gettext_noop("待二次录入")
    PROBLEMS = "problems", gettext_noop("问题件处理中")
    ENTERED = "entered", gettext_noop("录入完成待提交")
    UNDERWRITING = "underwriting", gettext_noop("核保中")
    EVIDENCE = "evidence", gettext_noop("待补充资料")
    ACCEPTED = "accepted", gettext_noop("核保通过待承保")
    POSTPONED = "postponed", gettext_noop("延期")
    DECLINED = "declined", gettext_noop("拒保")
    ISSUED = "issued", gettext_noop("已承保")
    WITHDRAWN = "withdrawn", gettext_noop("撤件")


OPEN_STATES = (
    State.SECOND_ENTRY,
    State.PROBLEMS,
    State.ENTERED,
    State.UNDERWRITING,
    State.EVIDENCE,
    State.ACCEPTED,
)
FINAL_STATES = (State.POSTPONED, State.DECLINED, State.ISSUED, State.WITHDRAWN)


class Application(ConcurrentTransitionMixin, models.Model):
    application_no = models.CharField("投保单号", max_length=20, unique=True)
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="applications", verbose_name="受理机构"
    )
    agent = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name="业务员",
    )

    policyholder = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="applications_as_policyholder", verbose_name="投保人"
    )
    policyholder_name = models.CharField("投保人姓名/名称", max_length=200)
    policyholder_id_type = models.CharField("投保人证件类型", max_length=24, choices=IdType.choices)
    policyholder_id_number = EncryptedTextField("投保人证件号码", null=True, blank=True)
    policyholder_created = models.BooleanField("投保人档案随单新建", default=False)
    # A group application (团险) names its insured members on a list instead (policies app).
    insured = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications_as_insured",
        verbose_name="被保险人",
    )
    insured_name = models.CharField("被保险人姓名", max_length=200, blank=True)
    insured_id_type = models.CharField("被保险人证件类型", max_length=24, choices=IdType.choices, blank=True)
    insured_id_number = EncryptedTextField("被保险人证件号码", null=True, blank=True)
    insured_created = models.BooleanField("被保险人档案随单新建", default=False)
    relationship = models.CharField("被保险人与投保人关系", max_length=10, choices=Relationship.choices)
    insured_consent = models.BooleanField("被保险人书面同意", default=False)
    beneficiary_legal = models.BooleanField("身故受益人为法定", default=False)

    total_premium = models.DecimalField("保费合计（元）", max_digits=14, decimal_places=2)
    payment_mode = models.CharField("缴费方式", max_length=12, choices=PaymentMode.choices)
    payment_term = models.CharField("缴费期间", max_length=10)
    bank_name = models.CharField("缴费银行", max_length=100, blank=True)
    bank_account = EncryptedTextField("缴费账号", null=True, blank=True)
    account_holder = models.CharField("账户户名", max_length=100, blank=True)

    business_source = models.CharField("业务来源", max_length=14, choices=BusinessSource.choices)
    agency_name = models.CharField("中介机构名称", max_length=200, blank=True)
    agency_kind = models.CharField("中介机构类型", max_length=14, choices=AgencyKind.choices, blank=True)
    commission_ratio = models.DecimalField(
        "手续费比例（%）", max_digits=5, decimal_places=2, null=True, blank=True
    )

    application_date = models.DateField("投保日期")
    requested_effective_date = models.DateField("指定生效日期", null=True, blank=True)
    health_disclosure = models.BooleanField("有健康告知事项", default=False)
    health_details = EncryptedTextField("健康告知说明", null=True, blank=True)
    notes = models.TextField("备注", blank=True)

    state = FSMField(
        "状态",
        max_length=16,
        choices=State.choices,
        default=State.SECOND_ENTRY,
        protected=True,
        db_index=True,
    )
    state_changed_at = models.DateTimeField("进入当前状态时间")
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="当前处理人"
    )

    first_entry_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name="初录人"
    )
    first_entry_at = models.DateTimeField("初录时间")
    second_entry_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="二次录入人"
    )
    second_entry_at = models.DateTimeField("二次录入时间", null=True, blank=True)
    key_field_count = models.PositiveSmallIntegerField("比对字段数", default=0)
    second_entry_values = EncryptedTextField("二次录入内容", null=True, blank=True)
    submitted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="提交核保人"
    )
    submitted_at = models.DateTimeField("提交核保时间", null=True, blank=True)
    closed_reason = models.CharField("终止原因", max_length=300, blank=True)

    # Sales recording (双录, 保监发〔2017〕54号)
    recording_required = models.BooleanField("需双录", default=False)
    recording_reasons = models.JSONField("双录原因", default=list, blank=True)
    recording_file = models.FileField("双录文件", upload_to="recordings/%Y/%m/", blank=True)
    recording_content_type = models.CharField("文件类型", max_length=100, blank=True)
    recording_size = models.PositiveBigIntegerField("文件大小（字节）", null=True, blank=True)
    recording_reference = models.CharField("双录编号", max_length=100, blank=True)
    recording_attached_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="双录上传人"
    )
    recording_attached_at = models.DateTimeField("双录上传时间", null=True, blank=True)
    recording_checked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="双录质检人"
    )
    recording_checked_at = models.DateTimeField("双录质检时间", null=True, blank=True)
    recording_check_note = models.CharField("质检意见", max_length=300, blank=True)

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "投保单"
        verbose_name_plural = "投保单"
        indexes = [
            models.Index(fields=["state", "state_changed_at"]),
            models.Index(fields=["unit", "state"]),
            models.Index(fields=["agent", "state"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_ratio__isnull=True)
                | (Q(commission_ratio__gte=0) & Q(commission_ratio__lte=100)),
                name="application_commission_ratio_range",
            ),
        ]

    def __str__(self) -> str:
        return f"投保单 {self.application_no}"

    @property
    def has_recording(self) -> bool:
        return bool(self.recording_file) or bool(self.recording_reference)

    @property
    def recording_ok(self) -> bool:
        """True when no recording is needed, or one is attached and has passed its check."""
        if not self.recording_required:
            return True
        return self.has_recording and self.recording_checked_at is not None

    @property
    def is_group(self) -> bool:
        return self.insured_id is None

    # --- transitions; call them only through the services (insurdesk.applications.services) ---

    @transition(field=state, source=State.SECOND_ENTRY, target=State.ENTERED)
    def second_entry_matched(self):
        """二次录入与初录一致."""

    @transition(field=state, source=State.SECOND_ENTRY, target=State.PROBLEMS)
    def second_entry_mismatched(self):
        """二次录入发现差异，生成问题件."""

    @transition(field=state, source=State.PROBLEMS, target=State.ENTERED)
    def problems_cleared(self):
        """录入问题件全部解决."""

    @transition(field=state, source=State.ENTERED, target=State.UNDERWRITING)
    def submit(self):
        """提交核保."""

    @transition(field=state, source=State.UNDERWRITING, target=State.EVIDENCE)
    def request_evidence(self):
        """核保要求补充资料/体检，暂停."""

    @transition(field=state, source=State.EVIDENCE, target=State.UNDERWRITING)
    def evidence_received(self):
        """补充资料已到，恢复核保."""

    @transition(field=state, source=State.UNDERWRITING, target=State.ACCEPTED)
    def accept(self):
        """核保通过（标准体、加费或除外）."""

    @transition(field=state, source=State.UNDERWRITING, target=State.POSTPONED)
    def postpone(self):
        """延期."""

    @transition(field=state, source=State.UNDERWRITING, target=State.DECLINED)
    def decline(self):
        """拒保."""

    @transition(
        field=state, source=State.ACCEPTED, target=State.ISSUED, conditions=[lambda app: app.recording_ok]
    )
    def issue(self):
        """承保出单（需双录的投保单须已上传且质检通过）."""

    @transition(field=state, source=list(OPEN_STATES), target=State.WITHDRAWN)
    def withdraw(self):
        """撤件."""


class ApplicationLine(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="lines")
    seq = models.PositiveSmallIntegerField("序号")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name="险种")
    rider_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="riders",
        verbose_name="所附主险",
    )
    coverage_term = models.CharField("保险期间", max_length=10)
    sum_insured = models.DecimalField("保额（元）", max_digits=16, decimal_places=2)
    premium = models.DecimalField("保费（元）", max_digits=14, decimal_places=2)
    plan_level = models.ForeignKey(
        PlanLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="等级"
    )

    class Meta:
        verbose_name = "投保险种"
        verbose_name_plural = "投保险种"
        ordering = ["application", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["application", "seq"], name="application_line_seq_once"),
            models.CheckConstraint(
                condition=Q(premium__gte=0) & Q(sum_insured__gte=0), name="application_line_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}#{self.seq} {self.product_id}"


class BeneficiaryRelation(models.TextChoices):
    """What the beneficiary is to the insured."""

    SPOUSE = "spouse", gettext_noop("配偶")
    CHILD = "child", gettext_noop("子女")
    PARENT = "parent", gettext_noop("父母")
    SIBLING = "sibling", gettext_noop("兄弟姐妹")
    OTHER = "other", gettext_noop("其他")


class Beneficiary(models.Model):
    """身故受益人 by order (受益顺序) with a share (受益比例, %) that totals 100 within the order."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="beneficiaries")
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
        related_name="beneficiary_of",
        verbose_name="客户档案",
    )

    class Meta:
        verbose_name = "受益人"
        verbose_name_plural = "受益人"
        ordering = ["application", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["application", "seq"], name="beneficiary_seq_once"),
            models.CheckConstraint(
                condition=Q(share__gt=0) & Q(share__lte=100), name="beneficiary_share_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.order}/{self.share}%"


class IssueType(models.TextChoices):
    MISMATCH = "mismatch", gettext_noop("录入不一致")
    MISSING = "missing", gettext_noop("资料缺失")
    ILLEGIBLE = "illegible", gettext_noop("字迹不清")
    UNSIGNED = "unsigned", gettext_noop("未签名")
    INCONSISTENT = "inconsistent", gettext_noop("逻辑矛盾")
    OTHER = "other", gettext_noop("其他")


class ProblemState(models.TextChoices):
    OPEN = "open", gettext_noop("待处理")
    SENT = "sent", gettext_noop("已下发")
    REPLIED = "replied", gettext_noop("已回复")
    RESOLVED = "resolved", gettext_noop("已解决")
    CANCELLED = "cancelled", gettext_noop("已撤销")


class Route(models.TextChoices):
    CORRECTION_DESK = "correction_desk", gettext_noop("更正岗")
    CUSTOMER = "customer", gettext_noop("客户")


class Origin(models.TextChoices):
    ENTRY = "entry", gettext_noop("录入")
    UNDERWRITING = "underwriting", gettext_noop("核保")
    ISSUE = "issue", gettext_noop("承保出单")
    SERVICING = "servicing", gettext_noop("保全")
    CLAIMS = "claims", gettext_noop("理赔")
    REVIEW = "review", gettext_noop("复核")


class Resolution(models.TextChoices):
    FIRST = "first", gettext_noop("以初录为准")
    SECOND = "second", gettext_noop("以二次录入为准")
    CORRECTED = "corrected", gettext_noop("更正为新值")
    ANSWERED = "answered", gettext_noop("已答复")


class ErrorParty(models.TextChoices):
    NONE = "none", gettext_noop("不计差错")
    FIRST = "first", gettext_noop("初录差错")
    SECOND = "second", gettext_noop("二次录入差错")
    BOTH = "both", gettext_noop("双方差错")


class ReplyMethod(models.TextChoices):
    IMAGE = "image", gettext_noop("核对影像")
    PHONE = "phone", gettext_noop("电话核实")
    CUSTOMER = "customer", gettext_noop("客户补正")
    AGENT = "agent", gettext_noop("业务员补正")
    DESK = "desk", gettext_noop("更正岗处理")


class ProblemItem(ConcurrentTransitionMixin, models.Model):
    """问题件: one issue on an application, as a classic core system keeps it."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="problems")
    serial_no = models.PositiveIntegerField("问题件序号")
    field = models.CharField("字段", max_length=60)
    field_label = models.CharField("字段名称", max_length=60)
    first_value = EncryptedTextField("初录内容", null=True, blank=True)
    second_value = EncryptedTextField("二次录入内容", null=True, blank=True)
    issue_type = models.CharField(
        "问题类型", max_length=14, choices=IssueType.choices, default=IssueType.MISMATCH
    )
    text = models.CharField("问题描述", max_length=500)
    state = FSMField(
        "状态",
        max_length=10,
        choices=ProblemState.choices,
        default=ProblemState.OPEN,
        protected=True,
        db_index=True,
    )
    route = models.CharField("处理去向", max_length=16, choices=Route.choices, default=Route.CORRECTION_DESK)
    arose_at = models.CharField("产生环节", max_length=14, choices=Origin.choices, default=Origin.ENTRY)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="处理人"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="提出人"
    )
    created_at = models.DateTimeField("产生时间", auto_now_add=True)
    sent_at = models.DateTimeField("下发时间", null=True, blank=True)
    replied_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="回复人"
    )
    reply_method = models.CharField("回复方式", max_length=10, choices=ReplyMethod.choices, blank=True)
    reply_text = models.CharField("回复内容", max_length=500, blank=True)
    replied_at = models.DateTimeField("回复时间", null=True, blank=True)
    resolution = models.CharField("处理结论", max_length=10, choices=Resolution.choices, blank=True)
    resolved_value = EncryptedTextField("确认内容", null=True, blank=True)
    resolved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="解决人"
    )
    resolved_at = models.DateTimeField("解决时间", null=True, blank=True)
    error_party = models.CharField(
        "差错归属", max_length=8, choices=ErrorParty.choices, default=ErrorParty.NONE
    )
    counts_as_error = models.BooleanField("计入差错", default=False)

    class Meta:
        verbose_name = "问题件"
        verbose_name_plural = "问题件"
        ordering = ["application", "serial_no"]
        indexes = [models.Index(fields=["state", "owner"]), models.Index(fields=["arose_at", "state"])]
        constraints = [
            models.UniqueConstraint(fields=["application", "serial_no"], name="problem_serial_once"),
            models.CheckConstraint(
                condition=(Q(counts_as_error=False) & Q(error_party="none"))
                | (Q(counts_as_error=True) & ~Q(error_party="none")),
                name="problem_error_flag_agrees",
            ),
        ]

    def __str__(self) -> str:
        return f"问题件 {self.application_id}-{self.serial_no} {self.field_label}"

    @property
    def is_open(self) -> bool:
        return self.state in (ProblemState.OPEN, ProblemState.SENT, ProblemState.REPLIED)

    @transition(field=state, source=ProblemState.OPEN, target=ProblemState.SENT)
    def send(self):
        """下发（更正岗或客户）."""

    @transition(field=state, source=ProblemState.SENT, target=ProblemState.REPLIED)
    def reply(self):
        """收到回复."""

    @transition(
        field=state,
        source=[ProblemState.OPEN, ProblemState.SENT, ProblemState.REPLIED],
        target=ProblemState.RESOLVED,
    )
    def resolve(self):
        """解决."""

    @transition(
        field=state,
        source=[ProblemState.OPEN, ProblemState.SENT, ProblemState.REPLIED],
        target=ProblemState.CANCELLED,
    )
    def cancel(self):
        """撤销（投保单撤件时）."""
