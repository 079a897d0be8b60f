"""The claim list's filters: the list page and the export page (exchange) share them."""

from django import forms

from insurdesk.claims.models import ClaimState


class ClaimFilterForm(forms.Form):
    q = forms.CharField(label="赔案号/保单号", required=False, max_length=30)
    state = forms.ChoiceField(label="理赔状态", required=False, choices=[("", "全部"), *ClaimState.choices])
