"""Forms of the retention pages: they shape input; the destruction services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _


class DestructionRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("申请理由"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("如：保存期限届满，客户已无业务往来（将记入销毁记录）"),
    )


class DecisionForm(forms.Form):
    request_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    note = forms.CharField(
        label=_("审批意见"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
