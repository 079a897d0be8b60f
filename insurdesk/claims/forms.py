"""Claim forms: the list's filters (the export page shares them), the report taken on the phone, and
one small form per handling step."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from insurdesk.claims.models import ClaimState, ClaimType, Decision, ReportChannel
from insurdesk.customers.forms import DomainErrorsMixin
from insurdesk.policies.models import RECORDABLE_METHODS, PaymentMethod

DATE = forms.DateInput(attrs={"type": "date"})
METHODS = [(str(m), _(PaymentMethod(m).label)) for m in RECORDABLE_METHODS]


def _translated(choices):
    return [(value, _(label)) for value, label in choices]


class ClaimFilterForm(forms.Form):
    q = forms.CharField(label=_("赔案号/保单号"), required=False, max_length=30)
    state = forms.ChoiceField(
        label=_("理赔状态"), required=False, choices=[("", _("全部")), *_translated(ClaimState.choices)]
    )


class ClaimQueueForm(ClaimFilterForm):
    overdue = forms.BooleanField(label=_("只看超时限"), required=False)


class PolicyFindForm(forms.Form):
    find = forms.CharField(
        label=_("保单号 / 证件号码 / 手机号 / 姓名"), max_length=60, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )  # fmt: skip


SYSTEM_CHANNELS = ("import", "api")
CHANNELS = _translated([c for c in ReportChannel.choices if c[0] not in SYSTEM_CHANNELS])
RELATIONS = [(r, _(r)) for r in ("本人", "配偶", "子女", "父母", "其他亲属", "业务员", "单位经办人", "其他")]


class ReportForm(DomainErrorsMixin, forms.Form):
    """The phone script's steps 2–3: who calls, what happened, when and where."""

    policy = forms.IntegerField(widget=forms.HiddenInput)
    reporter_name = forms.CharField(label=_("报案人姓名"), max_length=100)
    reporter_relation = forms.ChoiceField(label=_("与被保险人关系"), choices=RELATIONS)
    reporter_phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    channel = forms.ChoiceField(label=_("报案渠道"), choices=CHANNELS, initial=ReportChannel.PHONE)
    claim_type = forms.ChoiceField(
        label=_("出险类型"), choices=[("", _("请选择")), *_translated(ClaimType.choices)]
    )
    event_date = forms.DateField(label=_("出险日期"), widget=DATE)
    place = forms.CharField(label=_("出险地点"), max_length=200, required=False)
    description = forms.CharField(
        label=_("出险经过"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    amount_claimed = forms.DecimalField(
        label=_("预估索赔金额（元）"), required=False, min_value=0, max_digits=14, decimal_places=2
    )

    aliases = {
        "policy_id": "policy", "reporter.name": "reporter_name", "reporter.relation": "reporter_relation",
        "reporter.phone": "reporter_phone", "reported_at": "event_date",
    }  # fmt: skip

    def data_for_service(self) -> dict:
        cd = self.cleaned_data
        return {
            "policy_id": cd["policy"],
            "claim_type": cd["claim_type"],
            "event_date": cd["event_date"],
            "reported_at": timezone.now(),
            "channel": cd["channel"],
            "place": cd.get("place") or "",
            "description": cd["description"],
            "amount_claimed": cd.get("amount_claimed"),
            "reporter": {
                "name": cd["reporter_name"],
                "relation": cd["reporter_relation"],
                "phone": cd.get("reporter_phone") or "",
            },
        }


class DocumentsForm(forms.Form):
    prefix = "docs"
    received = forms.MultipleChoiceField(
        label=_("本次收到"), required=False, widget=forms.CheckboxSelectMultiple
    )
    notify_missing = forms.BooleanField(label=_("一次性通知补充其余全部资料"), required=False)

    def __init__(self, *args, checklist=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received"].choices = [
            (d["code"], d["label"]) for d in checklist if not d.get("received_on")
        ]


class AssessForm(forms.Form):
    prefix = "assess"
    covered_amount = forms.DecimalField(
        label=_("责任范围内金额（元）"), required=False, min_value=0, max_digits=14, decimal_places=2,
        help_text=_("医疗/财产：合理费用或损失；身故/重疾留空为剩余保额"),
    )  # fmt: skip
    deductible = forms.DecimalField(
        label=_("免赔额（元）"), required=False, min_value=0, max_digits=14, decimal_places=2,
        help_text=_("留空按出险类型的默认值"),
    )  # fmt: skip
    ratio = forms.DecimalField(
        label=_("赔付比例（%）"), required=False, min_value=0, max_value=100, max_digits=5, decimal_places=2
    )
    suicide = forms.BooleanField(label=_("身故原因为自杀"), required=False)
    findings = forms.CharField(label=_("核赔意见"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class DecideForm(forms.Form):
    prefix = "decide"
    decision = forms.ChoiceField(
        label=_("理赔结论"), choices=_translated(Decision.choices), widget=forms.RadioSelect
    )
    amount = forms.DecimalField(
        label=_("部分给付金额（元）"), required=False, min_value=0, max_digits=14, decimal_places=2,
        help_text=_("给付时为理算金额；部分给付时填写"),
    )  # fmt: skip
    reasons = forms.CharField(
        label=_("理由"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("部分给付与拒赔必填，将写入拒绝赔付通知书"),
    )  # fmt: skip


class ApproveForm(forms.Form):
    prefix = "approve"
    approve = forms.ChoiceField(
        label=_("复核意见"),
        choices=[("1", _("同意")), ("0", _("退回重新核定"))],
        widget=forms.RadioSelect,
        initial="1",
    )
    reason = forms.CharField(label=_("说明"), max_length=1000, required=False)


class PayForm(forms.Form):
    prefix = "pay"
    method = forms.ChoiceField(label=_("支付方式"), choices=METHODS, initial="transfer")
    paid_on = forms.DateField(label=_("支付日期"), widget=DATE, required=False)
    reference = forms.CharField(label=_("凭证号"), max_length=60, required=False)


class AdvanceForm(PayForm):
    prefix = "advance"
    amount = forms.DecimalField(label=_("先予支付金额（元）"), min_value=0, max_digits=14, decimal_places=2)
    reason = forms.CharField(label=_("说明（可以确定的部分）"), max_length=500)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=300, required=False)


class SentForm(forms.Form):
    prefix = "sent"
    sent_on = forms.DateField(label=_("送达日期"), widget=DATE, required=False)
