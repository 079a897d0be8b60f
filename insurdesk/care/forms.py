"""The contact log's filters: the list page and the export page (exchange) share them."""

from django import forms

from insurdesk.care.models import ContactChannel


class ContactFilterForm(forms.Form):
    channel = forms.ChoiceField(
        label="沟通方式", required=False, choices=[("", "全部"), *ContactChannel.choices]
    )
    follow_up = forms.ChoiceField(
        label="后续跟进", required=False, choices=[("", "全部"), ("1", "需跟进"), ("0", "无需跟进")]
    )
