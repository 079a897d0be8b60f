"""Forms of the compliance pages: they parse input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from insurdesk.compliance.checks import CHECKS
from insurdesk.compliance.models import (
    TASK_TRANSITIONS,
    ConsentChannel,
    ConsentPurpose,
    FlagKind,
    FlagState,
    RequestKind,
    RequestOutcome,
    RequestState,
    ReviewConclusion,
    TaskState,
)
from insurdesk.customers.models import RiskLevel
from insurdesk.org.models import User
from insurdesk.org.selectors import viewer_unit_ids

BLANK = [("", "—")]
DATE = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
NOTE = forms.Textarea(attrs={"rows": 2})


def _people(viewer):
    """Active users of the viewer's units, for owner and handler choices."""
    qs = User.objects.filter(is_active=True).order_by("username")
    ids = viewer_unit_ids(viewer)
    if ids is not None:
        qs = qs.filter(unit_id__in=ids)
    return [(u.pk, f"{u}（{u.get_role_display()}，{u.username}）") for u in qs[:500]]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        label=_("操作人"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "用户名，或 system"}),
    )
    action = forms.CharField(
        label=_("动作"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "如 customer.view 或 customer"}),
    )
    archive_no = forms.CharField(label=_("客户号"), max_length=20, required=False)
    date_from = forms.DateField(label=_("起始日期"), required=False, **DATE)
    date_to = forms.DateField(label=_("截止日期"), required=False, **DATE)

    def clean(self):
        cd = super().clean()
        if cd.get("date_from") and cd.get("date_to") and cd["date_from"] > cd["date_to"]:
            self.add_error("date_to", _("截止日期不能早于起始日期"))
        return cd


class ReviewForm(forms.Form):
    conclusion = forms.ChoiceField(label=_("审核结论"), choices=ReviewConclusion.choices)
    level = forms.ChoiceField(
        label=_("审核后等级"),
        choices=BLANK + RiskLevel.choices,
        required=False,
        help_text=_("上调、下调时必填；维持时留空"),
    )
    reviewed_on = forms.DateField(label=_("审核日期"), required=False, **DATE)
    next_review = forms.DateField(
        label=_("下次审核日期"), required=False, help_text=_("留空按风险等级自动计算"), **DATE
    )
    note = forms.CharField(label=_("审核意见"), max_length=2000, required=False, widget=NOTE)


class FlagRaiseForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=FlagKind.choices)
    amount = forms.DecimalField(
        label=_("金额（元）"), required=False, min_value=0, max_digits=16, decimal_places=2
    )
    occurred_on = forms.DateField(label=_("交易日期"), required=False, **DATE)
    reference = forms.CharField(label=_("业务凭证"), max_length=60, required=False)
    reason = forms.CharField(label=_("标记原因"), max_length=300)


class FlagFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), choices=BLANK + FlagState.choices, required=False)
    kind = forms.ChoiceField(label=_("类型"), choices=BLANK + FlagKind.choices, required=False)


class FlagReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("审核结论"), choices=[("report", _("上报可疑交易")), ("dismiss", _("排除"))]
    )
    note = forms.CharField(label=_("审核意见"), max_length=2000, required=False, widget=NOTE)


class TaskFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("open_all", _("未关闭")), ("", _("全部"))] + TaskState.choices,
    )
    owner = forms.TypedChoiceField(label=_("责任人"), coerce=int, empty_value=None, required=False)
    unassigned = forms.BooleanField(label=_("未指派"), required=False)
    overdue = forms.BooleanField(label=_("已逾期"), required=False)
    check = forms.ChoiceField(
        label=_("检查项"), required=False, choices=BLANK + [(c.code, c.label) for c in CHECKS]
    )

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = BLANK + _people(viewer)


class TaskTransitionForm(forms.Form):
    transition = forms.ChoiceField(choices=[(k, v[2]) for k, v in TASK_TRANSITIONS.items()])
    note = forms.CharField(label=_("说明"), max_length=2000, required=False, widget=NOTE)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class TaskAssignForm(forms.Form):
    owner = forms.TypedChoiceField(label=_("整改责任人"), coerce=int, empty_value=None, required=False)
    due_on = forms.DateField(label=_("整改期限"), required=False, **DATE)
    note = forms.CharField(label=_("说明"), max_length=2000, required=False)

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = BLANK + _people(viewer)


class TaskNoteForm(forms.Form):
    text = forms.CharField(label=_("整改记录"), max_length=2000, widget=NOTE)


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("同意事项"), choices=ConsentPurpose.choices)
    channel = forms.ChoiceField(label=_("取得方式"), choices=ConsentChannel.choices)
    granted_at = forms.DateTimeField(
        label=_("同意时间"),
        required=False,
        help_text=_("留空为现在"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    evidence = forms.CharField(label=_("凭证"), max_length=100, required=False)


class ConsentWithdrawForm(forms.Form):
    channel = forms.ChoiceField(label=_("撤回方式"), choices=ConsentChannel.choices)


class PiRequestForm(forms.Form):
    archive_no = forms.CharField(label=_("客户号"), max_length=20)
    kind = forms.ChoiceField(label=_("请求类型"), choices=RequestKind.choices)
    channel = forms.ChoiceField(label=_("受理渠道"), choices=ConsentChannel.choices)
    received_on = forms.DateField(label=_("受理日期"), required=False, help_text=_("留空为今天"), **DATE)
    handler = forms.TypedChoiceField(label=_("经办人"), coerce=int, empty_value=None, required=False)
    description = forms.CharField(label=_("请求内容"), max_length=2000, required=False, widget=NOTE)

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handler"].choices = BLANK + _people(viewer)


class PiFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), choices=BLANK + RequestState.choices, required=False)
    overdue = forms.BooleanField(label=_("已逾期"), required=False)


class PiCloseForm(forms.Form):
    outcome = forms.ChoiceField(label=_("处理结果"), choices=RequestOutcome.choices)
    note = forms.CharField(
        label=_("答复内容"),
        max_length=4000,
        required=False,
        widget=NOTE,
        help_text=_("依法保留时可留空，系统填入标准答复"),
    )
    retention_ref = forms.CharField(label=_("销毁流程关联"), max_length=60, required=False)


class PiAssignForm(forms.Form):
    handler = forms.TypedChoiceField(label=_("经办人"), coerce=int, empty_value=None)

    def __init__(self, *args, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handler"].choices = _people(viewer)
