"""Underwriting cases (核保案件): the automatic rules' results, the underwriter's decisions, their log.

One case per application. Its state changes only through the transitions below, driven by
`insurdesk.underwriting.services`, which moves the application's own state in the same transaction.
"""

from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from insurdesk.applications.models import Application
from insurdesk.org.models import User


class CaseState(models.TextChoices):
    NEW = "new", "待自动核保"
    REFERRED = "referred", "待人工核保"
    EVIDENCE = "evidence", "待补充资料"
    ACCEPTED = "accepted", "核保通过"
    POSTPONED = "postponed", "延期"
    DECLINED = "declined", "拒保"


OPEN_CASE_STATES = (CaseState.NEW, CaseState.REFERRED, CaseState.EVIDENCE)


class Outcome(models.TextChoices):
    PASS = "pass", "通过"
    REFER = "refer", "转人工"
    DECLINE = "decline", "拒保"


class DecisionKind(models.TextChoices):
    STANDARD = "standard", "标准体承保"
    RATED = "rated", "加费承保"
    EXCLUSION = "exclusion", "除外承保"
    POSTPONE = "postpone", "延期"
    DECLINE = "decline", "拒保"
    REQUEST_EVIDENCE = "request_evidence", "补充资料/体检"
    EVIDENCE_RECEIVED = "evidence_received", "资料已到"


ACCEPTING = (DecisionKind.STANDARD, DecisionKind.RATED, DecisionKind.EXCLUSION)


class EvidenceKind(models.TextChoices):
    DOCUMENTS = "documents", "补充资料"
    MEDICAL = "medical", "体检"
    FINANCIAL = "financial", "财务资料"
    QUESTIONNAIRE = "questionnaire", "问卷"


class UnderwritingCase(ConcurrentTransitionMixin, models.Model):
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="underwriting_case", verbose_name="投保单"
    )
    state = FSMField(
        "状态", max_length=10, choices=CaseState.choices, default=CaseState.NEW, protected=True, db_index=True
    )
    state_changed_at = models.DateTimeField("进入当前状态时间")
    auto_outcome = models.CharField("自动核保结论", max_length=8, choices=Outcome.choices, blank=True)
    rules_run_at = models.DateTimeField("规则运行时间", null=True, blank=True)
    # A decline rule only proposes: an underwriter confirms (or overrides with reasons).
    proposed_decision = models.CharField("建议结论", max_length=20, choices=DecisionKind.choices, blank=True)

    decision = models.CharField("核保结论", max_length=20, choices=DecisionKind.choices, blank=True)
    extra_premium = models.DecimalField(
        "加费（每期，元）", max_digits=14, decimal_places=2, null=True, blank=True
    )
    exclusion = models.TextField("除外责任", blank=True)
    reasons = models.TextField("核保意见", blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="核保人"
    )
    decided_at = models.DateTimeField("核保时间", null=True, blank=True)
    automatic = models.BooleanField("自动核保通过", default=False)

    evidence_kind = models.CharField("补充资料类型", max_length=14, choices=EvidenceKind.choices, blank=True)
    evidence_requested = models.TextField("补充资料要求", blank=True)
    evidence_requested_at = models.DateTimeField("要求补充时间", null=True, blank=True)
    evidence_received_at = models.DateTimeField("资料到达时间", null=True, blank=True)

    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="核保员"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "核保案件"
        verbose_name_plural = "核保案件"
        indexes = [models.Index(fields=["state", "state_changed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(extra_premium__isnull=True) | Q(extra_premium__gte=0),
                name="uw_extra_premium_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"核保 {self.application_id} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CASE_STATES

    # --- transitions; call them only through insurdesk.underwriting.services ---

    @transition(field=state, source=CaseState.NEW, target=CaseState.ACCEPTED)
    def auto_accept(self):
        """自动核保通过（标准体）."""

    @transition(field=state, source=CaseState.NEW, target=CaseState.REFERRED)
    def refer(self):
        """转人工核保."""

    @transition(field=state, source=CaseState.REFERRED, target=CaseState.EVIDENCE)
    def request_evidence(self):
        """要求补充资料/体检，暂停."""

    @transition(field=state, source=CaseState.EVIDENCE, target=CaseState.REFERRED)
    def evidence_received(self):
        """资料已到，回到人工核保."""

    @transition(field=state, source=CaseState.REFERRED, target=CaseState.ACCEPTED)
    def accept(self):
        """核保通过（标准体、加费或除外）."""

    @transition(field=state, source=CaseState.REFERRED, target=CaseState.POSTPONED)
    def postpone(self):
        """延期."""

    @transition(field=state, source=CaseState.REFERRED, target=CaseState.DECLINED)
    def decline(self):
        """拒保."""


class RuleResult(models.Model):
    """One automatic rule's verdict on a case, kept per run (rules run again when evidence arrives)."""

    case = models.ForeignKey(UnderwritingCase, on_delete=models.CASCADE, related_name="rule_results")
    run = models.PositiveSmallIntegerField("运行次序", default=1)
    code = models.CharField("规则代码", max_length=40)
    name = models.CharField("规则", max_length=60)
    outcome = models.CharField("结果", max_length=8, choices=Outcome.choices)
    reason = models.CharField("原因", max_length=500)
    created_at = models.DateTimeField("运行时间", auto_now_add=True)

    class Meta:
        verbose_name = "核保规则结果"
        verbose_name_plural = "核保规则结果"
        ordering = ["case", "run", "id"]
        indexes = [models.Index(fields=["code", "outcome"])]

    def __str__(self) -> str:
        return f"{self.code}: {self.outcome}"


class Decision(models.Model):
    """The log of every underwriting action on a case: who, when, what and why."""

    case = models.ForeignKey(UnderwritingCase, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField("动作", max_length=20, choices=DecisionKind.choices)
    extra_premium = models.DecimalField(
        "加费（每期，元）", max_digits=14, decimal_places=2, null=True, blank=True
    )
    exclusion = models.TextField("除外责任", blank=True)
    evidence_kind = models.CharField("补充资料类型", max_length=14, choices=EvidenceKind.choices, blank=True)
    evidence = models.TextField("补充资料要求", blank=True)
    reasons = models.TextField("意见")
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="操作人"
    )
    automatic = models.BooleanField("系统自动", default=False)
    decided_at = models.DateTimeField("时间")

    class Meta:
        verbose_name = "核保决定"
        verbose_name_plural = "核保决定"
        ordering = ["case", "decided_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"
